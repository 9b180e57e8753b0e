import sys

from web.main import main

sys.exit(main())
