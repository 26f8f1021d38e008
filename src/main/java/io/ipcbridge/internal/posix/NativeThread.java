package io.ipcbridge.internal.posix;

import com.sun.jna.Memory;
import java.io.IOException;

/**
 * Wakes a thread blocked in a system call, the way the JDK's own channels do: a signal sent to
 * that one thread makes the call return EINTR. ipcbridge uses the JDK's NIO wake-up signal
 * ({@code SIGRTMAX - 2}), whose handler the JDK installs as a no-op <em>without</em> SA_RESTART; it
 * checks, before the first descriptor or wait relies on it ({@link #ensureReady}), that the handler
 * is there, so a blocked call can always be ended.
 */
public final class NativeThread {
    private static final int SA_RESTART = 0x10000000;
    private static final long SIGACTION_SIZE = 152;
    private static final long SA_FLAGS_OFFSET = 136;
    private static final int SIGNAL = NativeCalls.__libc_current_sigrtmax() - 2;
    /** How many times the JDK's set-up is tried while open(2) finds a descriptor free after it failed. */
    private static final int SET_UP_ATTEMPTS = 3;

    private static volatile boolean ready;

    private NativeThread() {
    }

    /**
     * Makes sure the JDK's handler of the wake-up signal is installed (and refuses to go on without
     * one that interrupts system calls). Done once, by the first descriptor or wait, and not in a
     * static initialiser: it opens /dev/null, which fails at RLIMIT_NOFILE, and that failure must be
     * the caller's IOException, tried again next time, not an ExceptionInInitializerError that makes
     * every later use of this class a NoClassDefFoundError.
     */
    public static void ensureReady() throws IOException {
        if (ready) {
            return;
        }
        synchronized (NativeThread.class) {
            if (ready) {
                return;
            }
            // The JDK installs the handler when sun.nio.ch.NativeThread is first used: a FileChannel read
            // does, made where the caller's interrupt cannot fail it
            for (int attempt = 1;; attempt++) {
                try {
                    NativeSetUp.installNioWakeUpSignal();
                    break;
                } catch (IOException jdk) {
                    // the JDK's message has no errno ("/dev/null: Too many open files"): open(2) tells it.
                    // If open(2) finds a descriptor free, another thread of the JVM held the last one for a
                    // moment (the cleaner closes descriptors at any time): the JDK's open is made again
                    try {
                        Syscalls.close(Syscalls.open("/dev/null", Syscalls.O_RDONLY, 0, "/dev/null"));
                    } catch (IOException failure) {
                        failure.addSuppressed(jdk);
                        throw failure;
                    }
                    if (attempt == SET_UP_ATTEMPTS) {
                        throw jdk;
                    }
                }
            }
            Memory old = new Memory(SIGACTION_SIZE);
            old.clear();
            if (NativeCalls.sigaction(SIGNAL, null, old) != 0) {
                throw new IllegalStateException("sigaction(" + SIGNAL + ") failed");
            }
            long handler = old.getLong(0);
            int flags = old.getInt(SA_FLAGS_OFFSET);
            if (handler == 0 || handler == 1 || (flags & SA_RESTART) != 0) {
                throw new IllegalStateException("signal " + SIGNAL + " has no handler that interrupts system calls;"
                        + " ipcbridge needs the JDK's NIO wake-up signal to end blocked calls");
            }
            ready = true;
        }
    }

    /** The calling thread's native handle (pthread_self). */
    public static long current() {
        return NativeCalls.THREADS.pthread_self();
    }

    /** Makes a system call that {@code thread} is blocked in return EINTR; harmless otherwise. */
    public static void signal(long thread) {
        NativeCalls.THREADS.pthread_kill(thread, SIGNAL);
    }
}
