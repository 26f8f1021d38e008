/**
 * Child processes with chosen descriptors ({@link io.ipcbridge.process.Command}) and pipelines of
 * commands and Java stages ({@link io.ipcbridge.process.Pipeline}).
 */
package io.ipcbridge.process;
