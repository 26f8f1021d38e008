package io.ipcbridge.testing;

import io.ipcbridge.conn.Listener;
import io.ipcbridge.mq.MessageQueue;
import io.ipcbridge.pipe.Fifo;
import io.ipcbridge.ring.Ring;
import io.ipcbridge.sem.Semaphore;
import io.ipcbridge.shm.SharedMemory;
import io.ipcbridge.socket.Address;
import io.ipcbridge.socket.ServerSocket;
import io.ipcbridge.socket.Socket;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;

/**
 * A program for tests that must run under another umask: {@code CreateEveryKind DIR MODE} creates
 * one named object of every kind (in DIR for files, with MODE in octal, or {@code default} for the
 * library's default), prints {@code KIND MODE} for each as stat(2) gives it, and removes them all.
 */
public final class CreateEveryKind {
    private CreateEveryKind() {
    }

    private static String mode(Path p) throws Exception {
        return Integer.toOctalString((Integer) Files.getAttribute(p, "unix:mode", LinkOption.NOFOLLOW_LINKS) & 07777);
    }

    public static void main(String[] args) throws Exception {
        Path dir = Path.of(args[0]);
        boolean byDefault = args[1].equals("default");
        int mode = byDefault ? 0 : Integer.parseInt(args[1], 8);
        String n = Names.unique("umask");
        try (MessageQueue q = byDefault ? MessageQueue.createExclusively(n) : MessageQueue.createExclusively(n, 1, 8, mode)) {
            System.out.println("mq " + Integer.toOctalString(q.mode()));
        } finally {
            MessageQueue.unlink(n);
        }
        try (Semaphore s = byDefault ? Semaphore.createExclusively(n, 0) : Semaphore.createExclusively(n, 0, mode)) {
            System.out.println("sem " + mode(Path.of("/dev/shm/sem." + n.substring(1))));
        } finally {
            Semaphore.unlink(n);
        }
        try (SharedMemory m = byDefault ? SharedMemory.createExclusively(n, 4096)
                : SharedMemory.createExclusively(n, 4096, mode)) {
            System.out.println("shm " + mode(Path.of("/dev/shm" + n)));
        } finally {
            SharedMemory.unlink(n);
        }
        try (Ring r = byDefault ? Ring.create(n, 4096) : Ring.create(n, 4096, 100, false, mode)) {
            System.out.println("ring " + mode(Path.of("/dev/shm" + n)));
        } finally {
            Ring.unlink(n);
        }
        Path fifo = dir.resolve("fifo");
        if (byDefault) {
            Fifo.create(fifo);
        } else {
            Fifo.create(fifo, mode);
        }
        System.out.println("fifo " + mode(fifo));
        Files.delete(fifo);
        Address stream = Address.unix(dir.resolve("stream.sock"));
        try (ServerSocket s = byDefault ? ServerSocket.listen(stream, Socket.Type.STREAM)
                : ServerSocket.listen(stream, Socket.Type.STREAM, mode, false)) {
            System.out.println("listener " + mode(dir.resolve("stream.sock")));
        }
        Address dgram = Address.unix(dir.resolve("dgram.sock"));
        try (Socket s = byDefault ? Socket.bind(dgram) : Socket.bind(dgram, mode)) {
            System.out.println("datagram " + mode(dir.resolve("dgram.sock")));
        }
        if (byDefault) {
            try (Listener l = Listener.listen(Address.unix(dir.resolve("conn.sock")), new byte[32])) {
                System.out.println("connection listener " + mode(dir.resolve("conn.sock")));
            }
        }
    }
}
