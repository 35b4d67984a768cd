import sys

from arcface_viz.cli import main

sys.exit(main())
