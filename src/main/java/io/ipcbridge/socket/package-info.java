/**
 * Sockets through the system calls: AF_UNIX stream, datagram and seqpacket sockets (filesystem and
 * abstract addresses, descriptor passing, peer credentials) and AF_INET/AF_INET6:
 * {@link io.ipcbridge.socket.Socket}, {@link io.ipcbridge.socket.ServerSocket}.
 */
package io.ipcbridge.socket;
