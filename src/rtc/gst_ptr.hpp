#pragma once

// Owning smart pointers for the GLib/GStreamer objects the gateway holds, so
// that every reference taken is released on every path (errors included).

#include <glib.h>
#include <gst/gst.h>
#include <gst/sdp/sdp.h>

#include <memory>

namespace voicedesk::rtc {

// GstObject subclasses (elements, pads, buses, data channels...).
struct GstObjectDeleter {
  void operator()(gpointer object) const { gst_object_unref(object); }
};
template <typename T>
using GstPtr = std::unique_ptr<T, GstObjectDeleter>;

// Plain GObjects that are not GstObjects (the ICE agent's GObject-level API).
struct GObjectDeleter {
  void operator()(gpointer object) const { g_object_unref(object); }
};
template <typename T>
using GObjectPtr = std::unique_ptr<T, GObjectDeleter>;

struct GFreeDeleter {
  void operator()(gpointer memory) const { g_free(memory); }
};
using GCharPtr = std::unique_ptr<gchar, GFreeDeleter>;

struct GstMiniObjectDeleter {
  void operator()(gpointer object) const { gst_mini_object_unref(GST_MINI_OBJECT_CAST(object)); }
};
using GstPromisePtr = std::unique_ptr<GstPromise, GstMiniObjectDeleter>;
using GstCapsPtr = std::unique_ptr<GstCaps, GstMiniObjectDeleter>;
using GstSamplePtr = std::unique_ptr<GstSample, GstMiniObjectDeleter>;

struct GstSdpMessageDeleter {
  void operator()(GstSDPMessage* message) const { gst_sdp_message_free(message); }
};
using GstSdpMessagePtr = std::unique_ptr<GstSDPMessage, GstSdpMessageDeleter>;

struct GMainContextDeleter {
  void operator()(GMainContext* context) const { g_main_context_unref(context); }
};
using GMainContextPtr = std::unique_ptr<GMainContext, GMainContextDeleter>;

struct GMainLoopDeleter {
  void operator()(GMainLoop* loop) const { g_main_loop_unref(loop); }
};
using GMainLoopPtr = std::unique_ptr<GMainLoop, GMainLoopDeleter>;

// A source we attached: destroying it detaches it from its context as well.
struct GSourceDeleter {
  void operator()(GSource* source) const {
    g_source_destroy(source);
    g_source_unref(source);
  }
};
using GSourcePtr = std::unique_ptr<GSource, GSourceDeleter>;

struct GErrorDeleter {
  void operator()(GError* error) const { g_error_free(error); }
};
using GErrorPtr = std::unique_ptr<GError, GErrorDeleter>;

}  // namespace voicedesk::rtc
