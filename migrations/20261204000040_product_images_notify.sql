-- A product's photos are part of the published catalog: adding, reordering or removing one
-- tells every server process to reload, like a change to products does.
CREATE TRIGGER product_images_changed
    AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON product_images
    FOR EACH STATEMENT EXECUTE FUNCTION notify_catalog_changed();
