"""`python -m curator.cli …`: the same as the `curator` command."""

from curator.cli.app import main

if __name__ == "__main__":
    main()
