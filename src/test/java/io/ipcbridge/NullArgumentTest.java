package io.ipcbridge;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.ipcbridge.conn.Connection;
import io.ipcbridge.mq.MessageQueue;
import io.ipcbridge.process.Command;
import io.ipcbridge.process.Pipeline;
import io.ipcbridge.process.Stage;
import io.ipcbridge.ring.Ring;
import io.ipcbridge.shm.SharedMemory;
import io.ipcbridge.socket.Address;
import io.ipcbridge.socket.ServerSocket;
import io.ipcbridge.socket.Socket;
import io.ipcbridge.testing.Names;
import java.nio.file.Path;
import java.util.Arrays;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;
import org.junit.jupiter.api.io.TempDir;

/**
 * RELIABILITY.md FAULT-07: a null argument is a NullPointerException that names the parameter,
 * before any call, not one that names a JDK internal ("csq", "array") or nothing at all.
 */
class NullArgumentTest {
    @TempDir
    Path dir;

    private static void assertNamed(String parameter, Executable call) {
        NullPointerException e = assertThrows(NullPointerException.class, call);
        assertEquals(parameter, e.getMessage(), "the message names the null parameter");
    }

    @Test
    void aNullArgumentIsANullPointerExceptionNamingIt() throws Exception {
        assertNamed("name", () -> Address.abstractName(null));
        assertNamed("descriptor", () -> SharedMemory.map(null, false));
        assertNamed("descriptor", () -> Ring.map(null));
        assertNamed("label", () -> Ring.memfd(null, 4096, 100, false));
        assertNamed("argv", () -> Command.of((String[]) null));
        assertNamed("argument", () -> Command.of("echo", null));
        assertNamed("argv", () -> Stage.command((String[]) null));
        assertNamed("stages", () -> Pipeline.of((Stage[]) null));
        assertNamed("stage", () -> Pipeline.of(Stage.command("true"), null));
        assertNamed("stage", () -> Pipeline.of(Arrays.asList(Stage.command("true"), null)));
        try (ServerSocket server = ServerSocket.listen(Address.unix(dir.resolve("s")), Socket.Type.STREAM)) {
            assertNamed("uids", () -> server.allowUids((int[]) null));
        }
        String q = Names.unique("nullq");
        try (MessageQueue queue = MessageQueue.createExclusively(q, 2, 16, 0600)) {
            assertNamed("message", () -> queue.send((byte[]) null, 0));
        } finally {
            MessageQueue.unlink(q);
        }
        try (Connection.Pair pair = Connection.pipe(true)) {
            assertNamed("data", () -> pair.first().sendBytes((byte[]) null));
        }
    }
}
