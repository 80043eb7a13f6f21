"""Two machines, one shop: ids across machines, git sync, the case merge driver."""
