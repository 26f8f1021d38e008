package io.ipcbridge;

/**
 * Anything ipcbridge opens that is a descriptor underneath (pipe ends, FIFOs, sockets, message
 * queues, shared memory), so it can be placed on a child's fd or passed over a socket.
 */
public interface HasDescriptor {
    /** The owned descriptor underneath. */
    Descriptor descriptor();
}
