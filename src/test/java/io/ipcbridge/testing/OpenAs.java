package io.ipcbridge.testing;

import io.ipcbridge.Descriptor;
import io.ipcbridge.mq.MessageQueue;
import io.ipcbridge.sem.Semaphore;
import io.ipcbridge.shm.SharedMemory;
import io.ipcbridge.pipe.Fifo;
import io.ipcbridge.pipe.PipeSource;
import io.ipcbridge.socket.Address;
import io.ipcbridge.socket.Socket;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Optional;

/**
 * A program for tests that must run as another user: {@code OpenAs KIND open|unlink NAME} opens or
 * unlinks a shm, sem or mq object and prints the outcome on stdout; {@code OpenAs sem create-0400 NAME}
 * creates a semaphore of value 1 with mode 0400 and takes its unit; {@code OpenAs shm create-0400
 * NAME} creates a segment of mode 0400, writes it and unlinks it; {@code OpenAs shm map-fd3 NAME} maps
 * the segment NAME open on its fd 3 read-only and prints the int at offset 0; {@code OpenAs fifo open
 * PATH} opens FIFO PATH for reading without waiting for a writer; {@code OpenAs sock connect PATH}
 * connects a stream socket to the socket file PATH.
 */
public final class OpenAs {
    private OpenAs() {
    }

    public static void main(String[] args) {
        String kind = args[0];
        boolean unlink = args[1].equals("unlink");
        String name = args[2];
        try {
            switch (kind) {
                case "shm":
                    if (args[1].equals("map-fd3")) {
                        try (SharedMemory shm = SharedMemory.map(Descriptor.adopt(3, name), true)) {
                            System.out.println(shm.getInt(0));
                            return;
                        }
                    } else if (args[1].equals("create-0400")) {
                        // created read-only for everyone, written by its creator through its O_RDWR fd
                        try (SharedMemory shm = SharedMemory.createExclusively(name, 4096, 0400)) {
                            SharedMemory.unlink(name);
                            shm.setInt(0, 42);
                        }
                    } else if (unlink) {
                        SharedMemory.unlink(name);
                    } else {
                        SharedMemory.open(name).close();
                    }
                    break;
                case "sem":
                    if (args[1].equals("create-0400")) {
                        try (Semaphore s = Semaphore.createExclusively(name, 1, 0400)) {
                            if (!s.tryAcquire()) {
                                System.out.println("the unit is not there");
                                return;
                            }
                        }
                    } else if (unlink) {
                        Semaphore.unlink(name);
                    } else {
                        Semaphore.open(name).close();
                    }
                    break;
                case "sock":
                    Socket.connect(Address.unix(Path.of(name)), Socket.Type.STREAM).close();
                    break;
                case "fifo":
                    Optional<PipeSource> reader = Fifo.openReader(Path.of(name), Duration.ZERO);
                    if (reader.isPresent()) {
                        reader.get().close();
                    }
                    break;
                default:
                    if (unlink) {
                        MessageQueue.unlink(name);
                    } else {
                        MessageQueue.open(name, MessageQueue.Access.READ_WRITE).close();
                    }
            }
            System.out.println("ok");
        } catch (IOException e) {
            System.out.println(e.getClass().getSimpleName() + ": " + e.getMessage());
        }
    }
}
