"""The kernel: storage, time, errors, events, jobs, files and the module registry.

Nothing here imports from foundation, platforms or domains.
"""
