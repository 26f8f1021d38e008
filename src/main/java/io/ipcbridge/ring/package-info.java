/** The shared-memory message ring: messages between Java and C processes without a kernel call per message. */
package io.ipcbridge.ring;
