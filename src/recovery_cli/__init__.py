"""recover: walk an upset customer through a recovery playbook, and keep the case."""

__version__ = "0.1.0"
