package io.ipcbridge.bench;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.ByteBuffer;

/** One side's Java handle on a mechanism: what the timing loops of {@link Loops} send and receive through. */
interface End extends AutoCloseable {
    /** Sends what remains in {@code buffer}: all of it on a byte stream, one message otherwise. */
    void send(ByteBuffer buffer) throws IOException;

    /**
     * One receive into {@code buffer} from its position: a read on a byte stream, a message
     * otherwise. Returns the bytes received, 0 or -1 at the end of the data.
     */
    int receive(ByteBuffer buffer) throws IOException;

    /** False for a bare signal (a semaphore, a spin flag), whose echo has no bytes to compare. */
    default boolean carriesData() {
        return true;
    }

    @Override
    void close() throws IOException;

    /** One send call. */
    @FunctionalInterface
    interface Sender {
        /** Sends from {@code buffer}; returns the bytes sent. */
        int send(ByteBuffer buffer) throws IOException;
    }

    /** One receive call. */
    @FunctionalInterface
    interface Receiver {
        /** Receives into {@code buffer}; returns the bytes received, 0 or -1 at the end. */
        int receive(ByteBuffer buffer) throws IOException;
    }

    /**
     * An end that sends with {@code sender} (repeated until the buffer is empty: a byte stream may
     * take part of it) and receives with {@code receiver}; closing it closes {@code resources}.
     * Either call may be null for an end that only sends or only receives.
     */
    static End of(Sender sender, Receiver receiver, AutoCloseable... resources) {
        return new End() {
            @Override
            public void send(ByteBuffer buffer) throws IOException {
                do {
                    sender.send(buffer);
                } while (buffer.hasRemaining());
            }

            @Override
            public int receive(ByteBuffer buffer) throws IOException {
                return receiver.receive(buffer);
            }

            @Override
            public void close() throws IOException {
                Links.closeAll(resources);
            }
        };
    }

    /**
     * An end on the JDK's streams (a child's stdin and stdout, a {@link java.net.Socket}'s), each
     * way through one byte array, flushed after each send; closing it closes {@code resource}.
     */
    static End of(OutputStream out, InputStream in, AutoCloseable resource) {
        byte[] o = new byte[64 << 10];
        byte[] i = new byte[64 << 10];
        return of(b -> {
            int n = b.remaining();
            b.get(o, 0, n);
            out.write(o, 0, n);
            out.flush();
            return n;
        }, b -> {
            int n = in.read(i, 0, Math.min(b.remaining(), i.length));
            if (n > 0) {
                b.put(i, 0, n);
            }
            return n;
        }, resource);
    }

    /**
     * An end that moves no data, only a signal (a semaphore post, a spin-flag store): a send
     * signals, a receive waits for the other side's signal; both take the whole buffer.
     */
    abstract class Signal implements End {
        /** Signals the other side. */
        abstract void signal() throws IOException;

        /** Waits for the other side's signal. */
        abstract void await() throws IOException;

        @Override
        public final void send(ByteBuffer buffer) throws IOException {
            signal();
            buffer.position(buffer.limit());
        }

        @Override
        public final int receive(ByteBuffer buffer) throws IOException {
            await();
            int n = buffer.remaining();
            buffer.position(buffer.limit());
            return n;
        }

        @Override
        public final boolean carriesData() {
            return false;
        }
    }
}
