"""`python -m gen_core ...`: see gen_core.cli."""
from gen_core.cli.commands import main


if __name__ == "__main__":
    raise SystemExit(main())
