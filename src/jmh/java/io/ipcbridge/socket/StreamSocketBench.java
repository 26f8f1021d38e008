package io.ipcbridge.socket;

import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
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
 * The cost of the calls of an AF_UNIX stream round trip without the wake-ups (run by
 * {@code scripts/bench-jmh}, never by {@code mvn verify}): one thread writes 8 bytes into one end of
 * a connected pair and reads them from the other, so both calls find what they need at once.
 * ipcbridge's {@link Socket} (write(2), then recvmsg(2), which learns of descriptors a peer pushed:
 * RELIABILITY.md FD-05), the same socket's {@link io.ipcbridge.Descriptor} (write(2), read(2)), and
 * the JDK's {@link SocketChannel} on a {@link UnixDomainSocketAddress} (write(2), read(2)). The
 * first two differ by what recvmsg costs over read; the last two by the binding and the wrapper.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 2, time = 1)
@Measurement(iterations = 3, time = 1)
@Fork(value = 8, jvmArgsAppend = "--enable-native-access=ALL-UNNAMED") // one JVM to the next moves the figures most
public class StreamSocketBench {
    private final ByteBuffer out = ByteBuffer.allocateDirect(8);
    private final ByteBuffer in = ByteBuffer.allocateDirect(8);
    private Socket.Pair pair;
    private Path dir;
    private SocketChannel jdkA;
    private SocketChannel jdkB;

    /** A socketpair for ipcbridge, a connected pair of JDK channels through a listener in a temporary directory. */
    @Setup
    public void open() throws IOException {
        pair = Socket.pair(Socket.Type.STREAM);
        dir = Files.createTempDirectory("ipcb-jmh");
        UnixDomainSocketAddress address = UnixDomainSocketAddress.of(dir.resolve("s"));
        try (ServerSocketChannel server = ServerSocketChannel.open(StandardProtocolFamily.UNIX)) {
            server.bind(address);
            jdkA = SocketChannel.open(address);
            jdkB = server.accept();
        }
    }

    /** Closes them. */
    @TearDown
    public void close() throws IOException {
        pair.close();
        jdkA.close();
        jdkB.close();
        Files.deleteIfExists(dir.resolve("s"));
        Files.delete(dir);
    }

    /** 8 bytes through ipcbridge's pair: Socket.write, then Socket.read. */
    @Benchmark
    public int writeReadIpcbridge() throws IOException {
        pair.first().write(out.clear());
        return pair.second().read(in.clear());
    }

    /** 8 bytes through the descriptors of ipcbridge's pair: Descriptor.write, then Descriptor.read (read(2)). */
    @Benchmark
    public int writeReadDescriptor() throws IOException {
        pair.first().descriptor().write(out.clear());
        return pair.second().descriptor().read(in.clear());
    }

    /** 8 bytes through the JDK's pair: SocketChannel.write, then SocketChannel.read. */
    @Benchmark
    public int writeReadJdk() throws IOException {
        jdkA.write(out.clear());
        return jdkB.read(in.clear());
    }
}
