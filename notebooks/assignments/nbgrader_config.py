"""nbgrader's configuration of the arcface-viz course: this folder is the course directory.

source/<assignment>/ holds the teacher notebooks (solutions, nbgrader cell metadata), release/<assignment>/
the student copies that ``nbgrader generate_assignment`` makes from them (committed; a test regenerates
them). submitted/, autograded/, feedback/ and gradebook.db appear when a teacher grades here; they are
git-ignored (see README.md in this folder).
"""
c = get_config()  # noqa: F821 -- provided by traitlets when nbgrader loads this file

c.CourseDirectory.course_id = "arcface-viz"
# A2's graded cell trains three models: about a minute on an idle 2-core machine, many more on a busy one.
c.Execute.timeout = 900
# A graded cell a student deleted (or stripped of its nbgrader metadata) scores 0: it is not put back.
# (nbgrader 0.9.6's OverwriteCells.add_missing_cells would, but it crashes with a KeyError when the cell
# before the deleted one is a read-only cell, as before each assignment's first check.) Edited locked
# cells are restored from the gradebook in any case.
