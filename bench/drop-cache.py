#!/usr/bin/env python3
# Drops files from the page cache (posix_fadvise POSIX_FADV_DONTNEED, no root needed), for the
# large-site benchmark's cold runs: every regular file under each directory given, and each file given
# (FILE@OFFSET: only its bytes from OFFSET on, e.g. a webroot's data region, keeping its index).
#   python3 bench/drop-cache.py PATH[@OFFSET]...
import os, sys
count = 0
def drop(path, offset=0):
    global count
    fd = os.open(path, os.O_RDONLY)
    try:
        os.posix_fadvise(fd, offset, 0, os.POSIX_FADV_DONTNEED)
    finally:
        os.close(fd)
    count += 1
for top in sys.argv[1:]:
    at = top.rfind('@')
    if at > 0 and top[at + 1:].isdigit():
        drop(top[:at], int(top[at + 1:]))
    elif os.path.isdir(top):
        for root, _, files in os.walk(top):
            for name in files:
                drop(os.path.join(root, name))
    else:
        drop(top)
print(f'dropped {count} files from the page cache')
