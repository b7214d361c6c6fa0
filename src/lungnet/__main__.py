import sys

from lungnet.cli import main

sys.exit(main())
