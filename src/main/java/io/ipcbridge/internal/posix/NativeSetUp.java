package io.ipcbridge.internal.posix;

import com.sun.jna.NativeLibrary;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import jnr.posix.POSIXFactory;
import jnr.posix.util.DefaultPOSIXHandler;

/**
 * The one-time set-up of the native layer, made in a thread of its own so that the caller's
 * interrupt cannot spoil it. jffi writes its stub to a temporary file and the JDK installs its NIO
 * wake-up signal on a first FileChannel read, both through interruptible channels: done by a thread
 * whose interrupt status is set (or that is interrupted meanwhile), they fail with
 * ClosedByInterruptException, and the class being initialised with them fails for the life of the
 * JVM (ExceptionInInitializerError, then NoClassDefFoundError for every call, in every thread).
 *
 * <p>Nothing here may touch {@link NativeCalls} or {@link NativeThread}: their initialisation waits
 * for this thread.
 */
final class NativeSetUp {
    private NativeSetUp() {
    }

    /**
     * Loads jnr-ffi (with its jffi stub), jnr-posix's libc and JNA's libc, in a thread of its own.
     *
     * @throws UnsupportedOperationException on any platform but Linux x86-64, before anything is loaded:
     *     the flags and layouts ipcbridge passes are that platform's (O_NOFOLLOW is O_LARGEFILE on
     *     aarch64), and it will not pass wrong ones
     */
    static void loadLibraries() {
        String os = System.getProperty("os.name");
        String arch = System.getProperty("os.arch");
        if (!"Linux".equals(os) || !"amd64".equals(arch)) {
            throw new UnsupportedOperationException("ipcbridge runs on Linux x86-64 (amd64) only, not on " + os
                    + " " + arch);
        }
        inOwnThread("ipcbridge-native-setup", () -> {
            POSIXFactory.getNativePOSIX(new DefaultPOSIXHandler());
            NativeLibrary.getInstance("c");
        });
    }

    /**
     * Makes the JDK install its NIO wake-up signal's handler (a first FileChannel read), in a thread of
     * its own.
     *
     * @throws IOException the JDK's, if /dev/null cannot be opened (EMFILE at RLIMIT_NOFILE)
     */
    static void installNioWakeUpSignal() throws IOException {
        try {
            inOwnThread("ipcbridge-nio-signal-setup", () -> {
                try (FileChannel channel = FileChannel.open(Path.of("/dev/null"))) {
                    channel.read(ByteBuffer.allocate(1));
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
            });
        } catch (UncheckedIOException e) {
            throw e.getCause();
        }
    }

    /** Runs {@code work} in a new thread and waits for it, uninterruptibly; its exception is rethrown. */
    private static void inOwnThread(String name, Runnable work) {
        Throwable[] failure = new Throwable[1];
        Thread thread = new Thread(() -> {
            try {
                work.run();
            } catch (Throwable t) {
                failure[0] = t;
            }
        }, name);
        thread.setDaemon(true);
        thread.start();
        boolean interrupted = false;
        for (;;) {
            try {
                thread.join();
                break;
            } catch (InterruptedException e) {
                interrupted = true; // the set-up is short; the caller keeps its interrupt
            }
        }
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
        if (failure[0] instanceof RuntimeException e) {
            throw e;
        }
        if (failure[0] instanceof Error e) {
            throw e;
        }
    }
}
