"""`draftrender bench`: the same compositions rendered by draftrender, an ffmpeg filter graph
and MoviePy, timed in child processes, with peak memory and draftrender's stage profile."""
