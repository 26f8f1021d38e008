/**
 * The native layer: every foreign-function declaration of ipcbridge (jnr-posix and JNA direct
 * mapping), checked syscall wrappers and the errno mapping. Internal: not part of the API.
 */
package io.ipcbridge.internal.posix;
