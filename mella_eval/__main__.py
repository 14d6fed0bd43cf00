from mella_eval.cli import main

raise SystemExit(main())
