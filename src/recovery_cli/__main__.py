"""``python -m recovery_cli`` runs the same CLI as ``recover``."""

from recovery_cli.entry import main

if __name__ == "__main__":
    main()
