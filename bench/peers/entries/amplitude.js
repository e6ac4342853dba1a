// Amplitude's browser SDK from npm, default options but the server URL and the remote config
// (fetched from Amplitude's servers, which this benchmark must not reach).
import * as amplitude from '@amplitude/analytics-browser';

window.__peer = {
  init(host) {
    window.__track = (props) => amplitude.track('add_to_cart', props);
    return amplitude.init('bench-key', { serverUrl: host + '/2/httpapi', fetchRemoteConfig: false }).promise;
  },
};
