from afdsl.cli import main

raise SystemExit(main())
