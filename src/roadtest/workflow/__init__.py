"""The steps each command takes, one module per concern, between the decision record and the façade (api.py).

workspace (init, check and what a run would warn about), archives (the runs folder: find, list, verify), running
(run, resume, rerun), deriving (scores, metrics, verdicts from an archive), reporting (the decision document, one
run or several combined), replaying (derive and report again, compared with the run's own files), comparing
(diff), estimates (plan) and record (the decision record's commands). Nothing is imported here, so importing
one step never loads the others.
"""
