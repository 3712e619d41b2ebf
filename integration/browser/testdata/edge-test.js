// Page side of the edge browser test. The Go test drives it through
// window.edgeTest with the Chrome DevTools Protocol; every method returns a
// JSON-serialisable value (or a promise of one).
'use strict';

(function () {
  const LK = window.LivekitClient;

  function log(...args) {
    console.log('[edge-test]', ...args);
  }

  // Adds up the inbound-rtp stats of every peer connection of the page.
  async function collectStats() {
    const out = {
      peerConnections: [],
      inbound: [],
      videoFramesDecoded: 0,
      videoPacketsReceived: 0,
      audioPacketsReceived: 0,
    };
    for (const pc of window.edgePeerConnections) {
      out.peerConnections.push({
        connectionState: pc.connectionState,
        iceConnectionState: pc.iceConnectionState,
        signalingState: pc.signalingState,
      });
      if (pc.connectionState === 'closed') {
        continue;
      }
      const report = await pc.getStats();
      report.forEach((s) => {
        if (s.type !== 'inbound-rtp') {
          return;
        }
        const r = {
          kind: s.kind,
          ssrc: s.ssrc,
          packetsReceived: s.packetsReceived || 0,
          packetsLost: s.packetsLost || 0,
          bytesReceived: s.bytesReceived || 0,
          framesDecoded: s.framesDecoded || 0,
          decoderImplementation: s.decoderImplementation || '',
        };
        out.inbound.push(r);
        if (r.kind === 'video') {
          out.videoFramesDecoded += r.framesDecoded;
          out.videoPacketsReceived += r.packetsReceived;
        } else if (r.kind === 'audio') {
          out.audioPacketsReceived += r.packetsReceived;
        }
      });
    }
    return out;
  }

  const state = {
    room: null,
    subscribed: [],
  };

  window.edgeTest = {
    // sdkVersion reports the version of the loaded livekit-client bundle.
    sdkVersion() {
      return LK ? LK.version : '';
    },

    // join connects to the edge node and, when publish is set, publishes the
    // fake camera and microphone. It resolves to the local participant's
    // identity once that is done.
    async join(url, token, publish) {
      if (state.room) {
        throw new Error('already joined');
      }
      LK.setLogLevel('info');
      const room = new LK.Room({ adaptiveStream: false, dynacast: false });
      state.room = room;
      room
        .on(LK.RoomEvent.ConnectionStateChanged, (s) => log('connection state', s))
        .on(LK.RoomEvent.ParticipantConnected, (p) => log('participant connected', p.identity))
        .on(LK.RoomEvent.TrackPublished, (pub, p) => log('track published', pub.kind, pub.trackSid, 'by', p.identity))
        .on(LK.RoomEvent.TrackSubscribed, (track, pub, p) => {
          log('track subscribed', track.kind, pub.trackSid, 'from', p.identity);
          state.subscribed.push({ kind: track.kind, trackSid: pub.trackSid, participant: p.identity });
          if (track.kind === LK.Track.Kind.Video) {
            // A video element consumes the frames, as a real application would.
            const el = track.attach();
            el.muted = true;
            el.autoplay = true;
            el.playsInline = true;
            document.getElementById('media').appendChild(el);
          }
        })
        .on(LK.RoomEvent.TrackSubscriptionFailed, (sid, p, reason) => log('track subscription failed', sid, p && p.identity, reason))
        .on(LK.RoomEvent.Disconnected, (reason) => log('disconnected', reason));

      await room.connect(url, token);
      log('connected as', room.localParticipant.identity, 'to room', room.name);
      if (publish) {
        await room.localParticipant.enableCameraAndMicrophone();
        const kinds = [];
        room.localParticipant.trackPublications.forEach((pub) => kinds.push(pub.kind));
        log('published', kinds.join(','));
      }
      return room.localParticipant.identity;
    },

    // allowSubscribers sets who may subscribe to the local participant's
    // tracks: everyone (true) or nobody (false).
    async allowSubscribers(all) {
      await state.room.localParticipant.setTrackSubscriptionPermissions(all, []);
      return true;
    },

    // publish publishes the fake camera and microphone (after join without).
    async publish() {
      await state.room.localParticipant.enableCameraAndMicrophone();
      return state.room.localParticipant.trackPublications.size;
    },

    // permissions lists the remote track publications with their permission
    // status ('allowed' or 'not_allowed') as the SDK knows it.
    permissions() {
      const out = [];
      state.room.remoteParticipants.forEach((p) => {
        p.trackPublications.forEach((pub) => {
          out.push({ trackSid: pub.trackSid, participant: p.identity, status: pub.permissionStatus });
        });
      });
      return out;
    },

    // subscribed lists the remote tracks the page has subscribed to.
    subscribed() {
      return state.subscribed;
    },

    // stats resolves to the summed inbound-rtp stats of all peer connections.
    stats: collectStats,

    // leave disconnects from the room, if joined.
    async leave() {
      if (state.room) {
        await state.room.disconnect();
        state.room = null;
      }
      return true;
    },
  };
  log('page ready, livekit-client', LK ? LK.version : 'missing');
})();
