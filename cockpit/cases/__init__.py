"""Run the closed loop of cases: workflow, working-time deadlines, the case desk, indicators."""
