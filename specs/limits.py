"""The limits a spec is held to unless the person running it says otherwise: plain numbers, so the
command line shows them in its help without loading the spec loader."""

MAX_RUNS = 2000  # runs one spec may expand to unless the person running it says more (--max-runs)
MAX_EXTENDS = 16  # files in one extends chain
