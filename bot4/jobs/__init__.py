"""Jobs people run: the in-process simulation, the platform job on Ray, and their run config."""
