/**
 * Message connections that speak the framing and the authentication of Python's
 * {@code multiprocessing.connection}: {@link io.ipcbridge.conn.Connection},
 * {@link io.ipcbridge.conn.Listener}.
 */
package io.ipcbridge.conn;
