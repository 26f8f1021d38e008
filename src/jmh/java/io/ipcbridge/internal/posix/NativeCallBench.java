package io.ipcbridge.internal.posix;

import java.io.FileOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * The per-call cost of each way the native layer can call libc (run by {@code scripts/bench-jmh},
 * never by {@code mvn verify}): a trivial system call and a 1-byte write(2) to /dev/null through
 * jnr-posix ({@link NativeCalls#LIBC}), JNA direct mapping ({@link NativeCalls#syscall}, the only
 * direct-mapped call that reaches getpid and write), jnr-ffi (getpid and write declared below, as
 * {@link NativeCalls.Threads} has neither; its {@code pthread_self} is the call without a system
 * call) and the JDK ({@link FileChannel}, {@link FileOutputStream}), plus ipcbridge's checked
 * {@link Syscalls#write}. The numbers back the choice of binding per call in {@link NativeCalls}.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = "--enable-native-access=ALL-UNNAMED")
public class NativeCallBench {
    private static final long SYS_WRITE = 1; // x86-64
    private static final long SYS_GETPID = 39;
    private static final int O_WRONLY = 1;

    /** getpid(2) and write(2) through jnr-ffi. */
    public interface Ffi {
        /** getpid(2). */
        int getpid();

        /** write(2) from a native address. */
        long write(int fd, long buf, long count);
    }

    private static final Ffi FFI = jnr.ffi.LibraryLoader.create(Ffi.class).load("c");

    private final ByteBuffer one = ByteBuffer.allocateDirect(1);
    private long address;
    private int devNull;
    private FileChannel channel;
    private FileOutputStream stream;
    private io.ipcbridge.Descriptor descriptor;

    /** Opens /dev/null four ways: raw fd, FileChannel, FileOutputStream, Descriptor. */
    @Setup
    public void open() throws IOException {
        address = Syscalls.address(one);
        devNull = NativeCalls.LIBC.open("/dev/null", O_WRONLY, 0);
        if (devNull < 0) {
            throw new IOException("open(/dev/null) failed");
        }
        channel = FileChannel.open(Path.of("/dev/null"), StandardOpenOption.WRITE);
        stream = new FileOutputStream("/dev/null");
        descriptor = io.ipcbridge.Descriptor.adopt(NativeCalls.LIBC.open("/dev/null", O_WRONLY, 0), "/dev/null");
    }

    /** Closes them. */
    @TearDown
    public void close() throws IOException {
        NativeCalls.LIBC.close(devNull);
        channel.close();
        stream.close();
        descriptor.close();
    }

    /** jnr-ffi, no system call: the bare cost of a foreign call. */
    @Benchmark
    public long callJnrFfiPthreadSelf() {
        return NativeCalls.THREADS.pthread_self();
    }

    /** getpid(2) through jnr-posix's LibC. */
    @Benchmark
    public int getpidJnrPosix() {
        return NativeCalls.LIBC.getpid();
    }

    /** getpid(2) through JNA direct mapping (syscall(2)). */
    @Benchmark
    public long getpidJnaDirect() {
        return NativeCalls.syscall(SYS_GETPID, 0, 0, 0, 0);
    }

    /** getpid(2) through jnr-ffi. */
    @Benchmark
    public int getpidJnrFfi() {
        return FFI.getpid();
    }

    /** The JDK's nearest trivial system call: lseek(2) behind {@link FileChannel#position()}. */
    @Benchmark
    public long lseekJdk() throws IOException {
        return channel.position();
    }

    /** A 1-byte write(2) through jnr-posix's LibC. */
    @Benchmark
    public long write1JnrPosix() {
        return NativeCalls.LIBC.write(devNull, one.clear(), 1L);
    }

    /** A 1-byte write(2) through JNA direct mapping (syscall(2)). */
    @Benchmark
    public long write1JnaDirect() {
        return NativeCalls.syscall(SYS_WRITE, devNull, address, 1, 0);
    }

    /** A 1-byte write(2) through jnr-ffi. */
    @Benchmark
    public long write1JnrFfi() {
        return FFI.write(devNull, address, 1);
    }

    /** A 1-byte write(2) through {@link io.ipcbridge.Descriptor#write}: the wrapper, plus the close and interrupt bookkeeping. */
    @Benchmark
    public int write1Descriptor() throws IOException {
        return descriptor.write(one.clear());
    }

    /** A 1-byte write(2) through ipcbridge's checked wrapper (errno mapping, EINTR retry). */
    @Benchmark
    public int write1Ipcbridge() throws IOException {
        return Syscalls.write(devNull, one.clear(), "/dev/null");
    }

    /** A 1-byte write(2) through the JDK's {@link FileChannel}, from a direct buffer. */
    @Benchmark
    public int write1JdkChannel() throws IOException {
        return channel.write(one.clear());
    }

    /** A 1-byte write(2) through the JDK's {@link FileOutputStream}. */
    @Benchmark
    public void write1JdkStream() throws IOException {
        stream.write(0);
    }
}
