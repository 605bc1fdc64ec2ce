"""The decision record: what was chosen, on which runs, and whether it still holds (decide, history, gate).

It sits above the report (it words its evidence as the document does) and below the CLI; the report never
imports it: it gets a snapshot (decisions.json) to show."""
