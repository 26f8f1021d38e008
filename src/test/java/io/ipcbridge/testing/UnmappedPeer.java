package io.ipcbridge.testing;

import io.ipcbridge.socket.Address;
import io.ipcbridge.socket.ServerSocket;
import io.ipcbridge.socket.Socket;

/**
 * {@code UnmappedPeer NAME}, run in a user namespace that maps none of its peers' uids: listens on
 * abstract NAME and prints {@code listening}, accepts one peer and prints {@code peer uid UID} (its
 * SO_PEERCRED uid: the overflow uid, for a peer not mapped here), then asks {@link
 * ServerSocket#allowUids} to allow that uid and prints {@code allowed} or {@code refused: MESSAGE}.
 */
public final class UnmappedPeer {
    private UnmappedPeer() {
    }

    public static void main(String[] args) throws Exception {
        try (ServerSocket server = ServerSocket.listen(Address.abstractName(args[0]), Socket.Type.STREAM)) {
            System.out.println("listening");
            int uid;
            try (Socket s = server.accept()) {
                uid = s.peerCredentials().uid();
            }
            System.out.println("peer uid " + uid);
            try {
                server.allowUids(uid);
                System.out.println("allowed");
            } catch (IllegalArgumentException e) {
                System.out.println("refused: " + e.getMessage());
            }
        }
    }
}
