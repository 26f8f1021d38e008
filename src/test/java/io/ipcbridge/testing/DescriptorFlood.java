package io.ipcbridge.testing;

import io.ipcbridge.Descriptor;
import io.ipcbridge.internal.posix.Errors;
import io.ipcbridge.pipe.Pipe;
import io.ipcbridge.socket.Socket;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.List;

/**
 * A program for tests that must run without CAP_SYS_ADMIN and CAP_SYS_RESOURCE (as another user):
 * with its RLIMIT_NOFILE lowered to {@code args[0]}, sends one descriptor per message over a
 * socketpair nobody reads until a send fails, and prints {@code refused after N: CLASS: MESSAGE};
 * then, the limit restored, receives and closes them all and prints {@code recovered} once a send
 * goes through again.
 */
public final class DescriptorFlood {
    private DescriptorFlood() {
    }

    public static void main(String[] args) throws IOException {
        try (Socket.Pair p = Socket.pair(Socket.Type.STREAM); Pipe pipe = Pipe.open()) {
            List<Descriptor> one = List.of(pipe.sink().descriptor());
            // the classes a send and its failure need, loaded while a class file can still be opened
            p.first().sendDescriptors(ByteBuffer.wrap(new byte[] {1}), one);
            p.second().receiveDescriptors(ByteBuffer.allocate(1), 1).get(0).close();
            Errors.exception("sendmsg", "socketpair", Errors.ETOOMANYREFS).getMessage();
            int sent = 0;
            try (Limits lowered = Limits.lower(Limits.NOFILE, Long.parseLong(args[0]))) {
                for (; sent < 1_000; sent++) {
                    p.first().sendDescriptors(ByteBuffer.wrap(new byte[] {1}), one);
                }
                System.out.println("never refused");
                return;
            } catch (IOException e) {
                System.out.println("refused after " + sent + ": " + e.getClass().getSimpleName() + ": " + e.getMessage());
            }
            for (int i = 0; i < sent; i++) {
                p.second().receiveDescriptors(ByteBuffer.allocate(1), 1).get(0).close();
            }
            p.first().sendDescriptors(ByteBuffer.wrap(new byte[] {1}), one);
            p.second().receiveDescriptors(ByteBuffer.allocate(1), 1).get(0).close();
            System.out.println("recovered");
        }
    }
}
