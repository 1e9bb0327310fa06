"""On-disk state: the segment cache (segments.py) and its pruning (prune.py), remembered results
(memo.py), locks, atomic files (files.py), the output folder's layout (workspace.py), episode
identity (episodes.py) and the render manifest (manifest.py). Imports nothing above it but the
data types (models.py), errors and paths."""
