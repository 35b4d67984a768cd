"""pytest (nbval) skips nbgrader's working folders: when a teacher grades in this course directory,
submitted/, autograded/ and feedback/ hold students' notebooks (git-ignored), not lessons. The student
copies in release/ are skipped by pyproject's ``--ignore``: they stop at ``raise NotImplementedError()``."""
collect_ignore = ["submitted", "autograded", "feedback"]
