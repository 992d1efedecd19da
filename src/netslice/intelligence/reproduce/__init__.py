"""``netslice reproduce``: the paper's evaluation regenerated in one command (issue 13, item 3).

:mod:`.plan` lists the tasks (training runs, cloning, baseline evaluations, per scenario and seed), :mod:`.runner`
runs them in worker processes (resumable: finished tasks are skipped, an interrupted training run resumes from its
checkpoint), :mod:`.results` reads what they left, and :mod:`.report` writes ``report.md`` with the tables, the
targets and the figures of :mod:`.figures`. :func:`.job.reproduce` ties them together.
"""
