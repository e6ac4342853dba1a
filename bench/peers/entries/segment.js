// Segment analytics-next as a storefront bundles it from npm. Settings are given inline
// (`cdnSettings`) so nothing is fetched from Segment's CDN; events go to the local sink.
import { AnalyticsBrowser } from '@segment/analytics-next';

window.__peer = {
  init(host) {
    const analytics = AnalyticsBrowser.load({
      writeKey: 'bench',
      // apiHost is host and path without the scheme (Segment prepends `protocol://`).
      cdnSettings: { integrations: { 'Segment.io': { apiKey: 'bench', apiHost: new URL(host).host + '/v1', protocol: 'http' } } },
    });
    window.__track = (props) => analytics.track('add_to_cart', props);
    return new Promise((resolve) => analytics.ready(() => resolve()));
  },
};
