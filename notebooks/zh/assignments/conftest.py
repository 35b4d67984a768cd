"""pytest (nbval) skips the Chinese student copies: like the English ones in notebooks/assignments/release/, they
stop at ``raise NotImplementedError()`` by design. The teacher notebooks in source/ run like every lesson."""
collect_ignore = ["release"]
