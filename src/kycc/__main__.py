"""``python -m kycc`` runs the kycc command line."""

from kycc.cli.main import main

if __name__ == "__main__":
    main()
