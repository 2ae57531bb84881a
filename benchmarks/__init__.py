"""inrank's benchmarks: one script per measurement, grouped by the question it answers, each run
as a module from the repository root (``python -m benchmarks.FOLDER.SCRIPT``) on the frame of
:mod:`benchmarks.frame`; ``python -m benchmarks.render_docs`` puts the results in the docs."""
