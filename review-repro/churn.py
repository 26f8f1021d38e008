import os, sys, time
ns = os.stat('/proc/self/ns/pid').st_ino
end = time.time() + float(sys.argv[2])
while time.time() < end:
    pid = os.fork()
    if pid == 0:
        start = open('/proc/self/stat').read().rsplit(')', 1)[1].split()[19]
        open('/dev/shm/%s.%d.%s.%d.c' % (sys.argv[1], os.getpid(), start, ns), 'w').close()
        time.sleep(0.002)
        os._exit(0)
    os.waitpid(pid, 0)
