"""``python -m bot`` is the same as the ``scanbot`` console script."""

from bot.cli.main import main

if __name__ == "__main__":
    raise SystemExit(main())
