from mella_eval.cli import main

# The guard matters: vLLM spawns its engine process, which re-imports the main module.
if __name__ == "__main__":
    raise SystemExit(main())
