import sys

from gep.cli import main

sys.exit(main())
