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
