"""nbgrader's configuration of the Chinese edition of the arcface-viz course (中文版作业): this folder is a course
directory like notebooks/assignments/, with the same assignments, cells, grade ids, points and checks.

source/<assignment>/ holds the Chinese teacher notebooks (their code cells are the English ones, character for
character; tests/unit/test_zh_assignments.py checks it), release/<assignment>/ the student copies that
``nbgrader generate_assignment`` makes from them (committed; the same test regenerates them).
"""
c = get_config()  # noqa: F821 -- provided by traitlets when nbgrader loads this file

c.CourseDirectory.course_id = "arcface-viz-zh"
# A2's graded cell trains three models: about a minute on an idle 2-core machine, many more on a busy one.
c.Execute.timeout = 900
