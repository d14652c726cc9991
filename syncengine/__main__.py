"""``python -m syncengine``: the same command line as the ``syncengine`` script."""

from syncengine.cli.main import main

if __name__ == "__main__":
    main()
