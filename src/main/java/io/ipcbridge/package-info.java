/**
 * What every mechanism shares: {@link io.ipcbridge.Descriptor}, the exceptions, and the {@link io.ipcbridge.Reaper} of names whose creator died.
 *
 * <p><b>Native code that forks .</b> ipcbridge never copies the JVM:
 * {@link io.ipcbridge.process.Command} spawns with posix_spawnp(3) (glibc clones with CLONE_VM and
 * CLONE_VFORK, then execs), and the child keeps only fds 0 to 2 and the descriptors placed for it. A C
 * library that calls fork(2) in the JVM without an exec gives its child a copy of every ipcbridge
 * descriptor, close-on-exec or not (that flag acts only at execve(2)), sharing the JVM's open file
 * descriptions: a pipe or socket end the child holds keeps the peer from seeing end of file until the
 * child exits or execs, whatever the JVM closes, and a queue descriptor shares its mq_flags, O_NONBLOCK
 * included (fork(2), mq_overview(7)). The MAP_SHARED mappings of shm segments, rings and semaphores are
 * inherited and stay shared. An mq_notify(3) registration is not inherited: it belongs to the process
 * that made it, so the child is not registered, and its own request gets EBUSY while the JVM's stands.
 * The child of the multi-threaded JVM may call only async-signal-safe functions (signal-safety(7)) until
 * it execs: no Java, no ipcbridge.
 */
package io.ipcbridge;
